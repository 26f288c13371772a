"""A running bot: LiveTradingBot, the one Cerebro builder, the per-bar checkpoint, the I/O
thread, status snapshots and logging."""
