"""What agents do from the sidebar (goodwill rewards, benefit claims): who may, how much, once, and on the record."""
