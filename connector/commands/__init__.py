"""The CLI's longer commands, one module each; ``connector.cli`` registers them."""
