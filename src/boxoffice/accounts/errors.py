from boxoffice.core.errors import Conflict, Problem, Unauthorized


class EmailAlreadyRegistered(Conflict):
    slug = "email-already-registered"
    title = "E-mail already registered"


class InvalidCredentials(Problem):
    status = 401
    slug = "invalid-credentials"
    title = "Invalid e-mail or password"


class InvalidRefreshToken(Unauthorized):
    slug = "invalid-refresh-token"
    title = "Invalid refresh token"


class RefreshTokenReused(Unauthorized):
    slug = "refresh-token-reused"
    title = "Refresh token reused"
    keeps_changes = True
