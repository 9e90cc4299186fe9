//! Real password hashes made by the Python libraries whose users Warden
//! imports, all of the password [`IMPORTED_PASSWORD`]. Made by
//! `tests/fixtures/imported_hashes.py` (which names the package versions),
//! not by Warden's code; each is `(scheme name in the audit, hash)`.

/// The password of every hash of [`IMPORTED_HASHES`].
pub const IMPORTED_PASSWORD: &str = "Correct-horse-9!";

/// One hash per format `POST /auth/admin/accounts` and `warden account
/// import` accept.
pub const IMPORTED_HASHES: &[(&str, &str)] = &[
    // argon2-cffi PasswordHasher(t=1, m=8, p=1)
    (
        "argon2",
        "$argon2id$v=19$m=8,t=1,p=1$cJrcYqyJ4WPzqzjRruaWEQ$WZ88u0LtEdXi5y+CxdU/FZpyBxKeXNyGcwGsUvZLwjo",
    ),
    // argon2-cffi low_level.hash_secret(Type.I, t=1, m=8, p=1)
    (
        "argon2",
        "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$+fpg9aLGToVH6C0Pfzsk0SJLhBlHzkwK7KSy4S3i/Wc",
    ),
    // bcrypt.hashpw(gensalt(rounds=4, prefix=b'2a'))
    (
        "bcrypt",
        "$2a$04$qp0ppHx5Eo69iZaWNUTHPeEHMhXKLEwCv4JZYPu5VV5.v4.KbcB6G",
    ),
    // bcrypt.hashpw(gensalt(rounds=4, prefix=b'2b'))
    (
        "bcrypt",
        "$2b$04$Qr2LYBix07LUl6aULNNtRul36krkP0WtWhSIqonPwgNW8k0rBB3xu",
    ),
    // passlib bcrypt.using(rounds=4, ident='2y')
    (
        "bcrypt",
        "$2y$04$NSI6vkQlBcdniQEKw6tx1.sfPi2J7zIUREmaseTzlLjB6Dc27Su3K",
    ),
    // passlib pbkdf2_sha256.using(rounds=1000)
    (
        "pbkdf2-sha256",
        "$pbkdf2-sha256$1000$t1aqdU6p9Z5TSkkJoXQOIQ$vPkxfMjIQzw6OjfbasMIaMM18SUiQTxMO8sgQWLZ6P4",
    ),
    // passlib scrypt.using(rounds=4)
    (
        "scrypt",
        "$scrypt$ln=4,r=8,p=1$EkLoXWtt7f0/J2RMyXlPaQ$w0HgT1NjjqBgWZb2kd6GkwVH/T0PufkGH7IGTX6rR8g",
    ),
    // Django PBKDF2PasswordHasher().encode(iterations=1000)
    (
        "django-pbkdf2-sha256",
        "pbkdf2_sha256$1000$AnYEc5cVaZ30rYfmGQYDLB$bY6hJEzR5yTwEU970T6EYIJontG31wqGdssgh0u+CMQ=",
    ),
];
