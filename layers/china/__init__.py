"""China: the metropolitan regions named by Zhang (2022) and their boundaries."""
