from boxoffice.core.errors import Conflict, Forbidden, NotFound


class OrganizationNotFound(NotFound):
    slug = "organization-not-found"
    title = "Organization not found"


class InsufficientRole(Forbidden):
    slug = "insufficient-role"
    title = "Your role in this organization does not allow this"


class UserNotFound(NotFound):
    slug = "user-not-found"
    title = "No account with this e-mail address"


class MemberNotFound(NotFound):
    slug = "member-not-found"
    title = "Member not found"


class AlreadyMember(Conflict):
    slug = "already-member"
    title = "Already a member"


class LastOwner(Conflict):
    slug = "last-owner"
    title = "An organization must keep at least one owner"
