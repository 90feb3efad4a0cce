"""One Omneo profile, one Zendesk user: the rules between them, sync, consolidation, merges, links and user events."""
