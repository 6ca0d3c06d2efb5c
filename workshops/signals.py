from django.dispatch import Signal

# Sent (on commit) when a proposal is decided "accepted": kwargs proposal_id, user.
# The actions app turns it into an Action linked back to the proposal.
proposal_accepted = Signal()
