"""The portal for resident collectives: memberships, filing drafts, support,
attachments and the mails they send. SQL in ``store``; rules in ``rules``;
the pages are registry.web.portal_pages."""
