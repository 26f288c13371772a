"""Bar sources and Backtrader feeds: CSV loading, resampling, the replay feed, the live queue feed,
the ``file`` source and the base every venue's bar source builds on (``venue_source``)."""
