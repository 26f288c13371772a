"""The Yahoo Finance connection (through yfinance): chart history as the project's bars.

``connection.YahooVenue`` is the one connection a bot's ``yahoo`` feed uses; ``intervals`` maps
the config's intervals to Yahoo's and knows how far back Yahoo serves each; ``chart`` reads
Yahoo's chart answers. Imports only ``trading.core``.
"""
