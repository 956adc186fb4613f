import factory

from accounts.models import User
from accounts.services import user_create

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """Users are built through the service, as the application builds them."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = User.Role.BORROWER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", DEFAULT_PASSWORD)
        return user_create(password=password, **kwargs)


class BorrowerFactory(UserFactory):
    role = User.Role.BORROWER


class OfficerFactory(UserFactory):
    email = factory.Sequence(lambda n: f"officer{n}@example.com")
    role = User.Role.OFFICER


class AdminFactory(UserFactory):
    email = factory.Sequence(lambda n: f"admin{n}@example.com")
    role = User.Role.ADMIN
