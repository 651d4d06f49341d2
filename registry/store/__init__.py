"""SQL, one small module per aggregate; explicit column lists, no ORM."""
