"""Notification channels (telegram, email, webhook): one module per channel, one shape.

``AVAILABLE_CHANNELS`` names the channels this version can send through; the validator warns
about an enabled channel that is not among them.
"""

AVAILABLE_CHANNELS: tuple[str, ...] = ()
