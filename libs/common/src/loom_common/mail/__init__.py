"""Email: the SMTP sender every service uses (:mod:`.smtp`) and an SMTP sink for tests (:mod:`.sink`)."""
