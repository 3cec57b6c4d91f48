from boxoffice.core.errors import Conflict, NotFound


class EventNotFound(NotFound):
    slug = "event-not-found"
    title = "Event not found"


class EventCancelled(Conflict):
    slug = "event-cancelled"
    title = "The event is cancelled"


class EventHasNoTicketTypes(Conflict):
    slug = "event-has-no-ticket-types"
    title = "An event needs at least one ticket type before it can be published"


class CapacityBelowCommitted(Conflict):
    slug = "capacity-below-committed"
    title = "Capacity cannot drop below the seats already sold or held"
