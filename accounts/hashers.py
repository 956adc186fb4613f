from django.contrib.auth.hashers import BCryptPasswordHasher

BCRYPT_MAX_BYTES = 72


class LegacyBCryptPasswordHasher(BCryptPasswordHasher):
    """Verifies the previous system's ``bcrypt$`` hashes, as that system checked them.

    Its bcrypt hashed only the first 72 bytes of a longer password; bcrypt 5 refuses
    such a password with ``ValueError`` (a 500 at login). The first 72 bytes are checked
    instead, as before, and a successful login re-hashes the whole password with Argon2id
    (the first of ``PASSWORD_HASHERS``), after which every byte counts.
    """

    def verify(self, password, encoded):
        raw = password.encode()
        if len(raw) <= BCRYPT_MAX_BYTES:
            return super().verify(password, encoded)
        algorithm, data = encoded.split("$", 1)
        if algorithm != self.algorithm:
            return False
        return self._load_library().checkpw(raw[:BCRYPT_MAX_BYTES], data.encode("ascii"))
