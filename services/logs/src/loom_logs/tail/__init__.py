"""Live tail: one poller per process finds new rows, each subscriber's filter picks its lines,
and a Server-Sent Events stream sends them (the API's, and the operator page's behind sign-in)."""
