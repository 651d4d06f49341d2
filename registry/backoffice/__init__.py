"""The back office: civil servants run the municipal side of the procedure.

- ``authz``: who may do what, for which municipality and department (the ONE place),
- ``store``: SQL (staff, queue, assignments, notes, assessments, approvals, audit),
- ``service``: the operations, each checking authorisation and writing the audit log,
- ``totp``: RFC 6238 one-time codes for the optional second factor.

Pages live in registry/web/backoffice_pages.py, the CLI in registry/backoffice_cli.py.
"""
