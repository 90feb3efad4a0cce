"""Every setting of the product, declared once; `python -m integration.settings` prints README's table."""
