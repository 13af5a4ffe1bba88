"""People and how they prove who they are: users, passwords and resets, login sessions,
remembered credentials, rate limits on the forms that check a password, the account pages."""
