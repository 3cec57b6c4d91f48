from boxoffice.core.errors import Conflict, Problem, Unauthorized, ValidationFailed


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


class InvalidPasswordResetToken(ValidationFailed):
    """A password reset token that is unknown, tampered with, expired or already used: a 422
    naming ``token`` (the link in the e-mail is the input that is wrong)."""

    slug = "invalid-password-reset-token"
    title = "Invalid password reset link"

    def __init__(self, message: str) -> None:
        super().__init__("token", message)
