"""`python -m integration.settings` prints README's settings table."""
from integration.settings.declared import SETTINGS
from integration.settings.kinds import markdown_table

print(markdown_table(SETTINGS), end="")
