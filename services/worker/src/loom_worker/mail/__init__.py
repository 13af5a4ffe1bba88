"""Email: templates to a multipart message, SMTP delivery, and sending each email once."""
