"""Outgoing mail: a transactional outbox (``outbox.enqueue`` in the caller's
transaction) and its delivery (``delivery.deliver_pending``), run by the
background worker in registry.portal_tasks and by ``registry mail send-pending``."""
