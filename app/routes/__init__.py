"""HTTP routes, one blueprint per surface: health, REST users, the tutorial's legacy routes, OpenAPI."""
