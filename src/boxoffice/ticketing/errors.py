from boxoffice.core.errors import Conflict, NotFound


class TicketTypeNotFound(NotFound):
    slug = "ticket-type-not-found"
    title = "Ticket type not found"


class QuantityBelowCommitted(Conflict):
    slug = "quantity-below-committed"
    title = "Quantity cannot drop below the tickets already sold or held"
