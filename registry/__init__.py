"""The Right-to-Challenge registry."""
