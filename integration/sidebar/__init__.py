"""What the Zendesk sidebar shows for a requester, and its last good view when Omneo fails."""
