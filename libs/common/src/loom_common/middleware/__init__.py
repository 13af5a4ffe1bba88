"""Dramatiq middleware shared by every Loom consumer, one concern per module."""

from loom_common.middleware.dead_letter_reason import DeadLetterReason
from loom_common.middleware.error_capture import ErrorCapture
from loom_common.middleware.job_log import JobRunLog
from loom_common.middleware.request_id import RequestIdPropagation
from loom_common.middleware.shipping_pause import ShippingPause

__all__ = ["DeadLetterReason", "ErrorCapture", "JobRunLog", "RequestIdPropagation", "ShippingPause"]
