"""What happens to an issue once stored: its status, reading issues and events, retention."""
