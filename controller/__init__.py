"""callflow: a call controller for FreeSWITCH that runs flows kept as data."""

__version__ = "0.1.0"
