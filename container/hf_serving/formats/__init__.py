"""Content types in and out: JSON, JSON Lines and CSV records, Accept negotiation."""
