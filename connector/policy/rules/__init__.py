"""The rule set: common rules (G, C, S, L) and one pack per jurisdiction."""
