"""The JSON API blueprints (operator token): issues and events, projects and keys."""
