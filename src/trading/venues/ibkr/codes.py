"""What IB's message codes mean for the bot (TWS API "message codes").

TWS reports information, warnings and errors through one ``error`` callback. The bot sorts them:

- ``farm``: market data / HMDS farm status (2103-2158): logged at INFO, never an error;
- ``lost`` (1100) and ``restored`` (1101 data lost, 1102 data kept): TWS's own link to IB;
- ``client_id_in_use`` (326): another API client holds this client id;
- ``order``: an error about one order (rejected or canceled by IB);
- ``warning``: IB's own warnings about a request that still stands;
- ``error``: anything else.
"""
from __future__ import annotations

CONNECTIVITY_LOST = 1100
RESTORED_DATA_LOST = 1101
RESTORED_DATA_KEPT = 1102
CLIENT_ID_IN_USE = 326
# IB's warnings: the request or order still stands (ib_async treats them alike)
WARNINGS = frozenset({105, 110, 165, 321, 329, 399, 404, 434, 492, 10167})
# order ids: these come with the order's id as reqId and end the order
ORDER_ERRORS = frozenset({103, 104, 106, 107, 109, 110, 111, 113, 116, 117, 118, 119, 120, 121,
                          122, 123, 124, 125, 126, 129, 131, 132, 133, 134, 135, 136, 137, 140,
                          141, 144, 146, 147, 148, 151, 152, 153, 154, 155, 156, 157, 158, 159,
                          160, 161, 163, 164, 166, 167, 168, 200, 201, 202, 203, 382, 383, 387,
                          388, 400, 401, 402, 403, 405, 406, 407, 408, 409, 410, 411, 412, 413,
                          414, 415, 416, 417, 418, 419, 421, 422, 423, 424, 425, 426, 427, 428,
                          429, 430, 433, 435, 436, 437, 438, 439, 440, 441, 442, 443, 444, 445,
                          446, 447, 448, 449, 450, 451, 452, 453, 454, 455, 456, 457, 458, 459,
                          460, 461, 462, 463, 10147, 10148, 10149, 10268, 10289, 10290})


def classify(code: int, req_id: int = -1, is_order: bool = False) -> str:
    """``farm``, ``lost``, ``restored``, ``client_id_in_use``, ``order``, ``warning`` or ``error``.

    ``is_order``: ``req_id`` is the id of an order this bot placed."""
    if 2100 <= code < 2200:
        return "farm"
    if code == CONNECTIVITY_LOST:
        return "lost"
    if code in (RESTORED_DATA_LOST, RESTORED_DATA_KEPT):
        return "restored"
    if code == CLIENT_ID_IN_USE:
        return "client_id_in_use"
    if code in WARNINGS:
        return "warning"
    if is_order or (req_id > 0 and code in ORDER_ERRORS):
        return "order"
    return "error"
