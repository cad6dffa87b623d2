"""How the product talks to the world: vendors' wire formats, token endpoints, the SQL store."""
