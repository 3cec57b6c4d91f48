"""The configured payment providers, built once per application."""

from __future__ import annotations

from dataclasses import dataclass, field

from boxoffice.config import PaymentProviderName, Settings
from boxoffice.payments.providers import FreeProvider, PaymentProvider, TestCardProvider
from boxoffice.payments.stripe import StripeProvider


@dataclass(slots=True)
class PaymentProviders:
    settings: Settings
    free: FreeProvider = field(default_factory=FreeProvider)
    test: TestCardProvider = field(default_factory=TestCardProvider)
    _stripe: StripeProvider | None = None

    @property
    def stripe(self) -> StripeProvider | None:
        if self._stripe is None and self.settings.stripe_secret_key:
            self._stripe = StripeProvider(self.settings)
        return self._stripe

    def for_new_payment(self) -> PaymentProvider:
        """The provider that takes payments of paid orders."""
        if self.settings.payment_provider is PaymentProviderName.STRIPE:
            assert self.stripe is not None  # Settings require the keys
            return self.stripe
        return self.test

    def named(self, name: str | None) -> PaymentProvider | None:
        """The provider that took an order's payment (for refunds and voids)."""
        if name == "free":
            return self.free
        if name == "test":
            return self.test
        if name == "stripe":
            return self.stripe
        return None
