"""Reading and writing shapes (to do: to_dict, from_dict, dumps, loads)."""
