"""Dynamic audio: numbers, amounts, dates and words spoken from recorded dictionaries.

`compose.tokens_for` turns a play item's value into dictionary tokens with the rules of its
language (`lang_<code>.py`, one module per language, each citing its grammar);
`dictionary.Dictionary` maps tokens to the clips an operator recorded.
"""
