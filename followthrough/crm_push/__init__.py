"""``followthrough crm push``: open commitments written back to a CRM as tasks on their deal, idempotently.

:mod:`.base` holds the contract (:class:`~.base.CrmTask`, :class:`~.base.TaskWriter`), :mod:`.registry`
the writer per CRM kind, :mod:`.runner` the orchestration over the store, and one module per vendor
(:mod:`.salesforce`, :mod:`.hubspot`) the writer itself.
"""
