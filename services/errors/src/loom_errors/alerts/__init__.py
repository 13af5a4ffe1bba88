"""Email alerts: when an event calls for one (policy), what it says (emails), sending it."""
