"""A FreeSWITCH stand-in that speaks the real ESL wire protocol."""
