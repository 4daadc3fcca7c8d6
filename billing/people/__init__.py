"""People and their access, managed in the portal by admins of an account (superusers: every account):
invitations by email (`invitations`), roles given, changed and removed (`access`), and the people page's
rows (`directory`). Every change is audited: who, on which account, the role before and after."""
