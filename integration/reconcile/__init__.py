"""Reconciliation: Omneo and Zendesk made to converge when webhooks were lost or users edited by hand."""
