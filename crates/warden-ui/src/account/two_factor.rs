//! Two-factor enrolment: TOTP setup, confirmation (recovery codes shown once) and removal.

use super::*;

/// What the two-factor page shows.
#[derive(Default)]
pub(super) struct TwoFactorView {
    setup: Option<warden_core::TotpSetup>,
    recovery_codes: Option<Vec<String>>,
    errors: minijinja::Value,
    alert: Option<String>,
}

pub(super) async fn two_factor_page(
    page: &Page,
    signed: &Signed,
    status: StatusCode,
    view: TwoFactorView,
) -> Response {
    let auth = page.auth();
    // The account as it is now (the setup may just have changed it).
    let account = auth
        .accounts()
        .account(signed.account.id)
        .await
        .unwrap_or_else(|_| signed.account.clone());
    let codes_left = if account.mfa_enabled {
        match auth.mfa().recovery_codes_left(account.id).await {
            Ok(n) => Some(n),
            Err(e) => return page.error(&e),
        }
    } else {
        None
    };
    let setup = view.setup.map(|s| {
        minijinja::context! {
            secret => s.secret,
            qr => STANDARD.encode(s.qr_svg.as_bytes()),
        }
    });
    page.render_status(
        status,
        "account/two_factor.html",
        minijinja::context! {
            tab => "two-factor",
            otp_available => auth.settings().otp_enabled,
            mfa_enabled => account.mfa_enabled,
            codes_left => codes_left,
            setup => setup,
            recovery_codes => view.recovery_codes,
            errors => view.errors,
            alert => view.alert,
        },
    )
}

pub(super) async fn two_factor(Member { page, signed }: Member) -> Response {
    two_factor_page(&page, &signed, StatusCode::OK, TwoFactorView::default()).await
}

pub(super) async fn totp_setup(Member { page, signed }: Member) -> Response {
    match page
        .auth()
        .mfa()
        .totp_setup(signed.account.id, &page.client)
        .await
    {
        Ok(setup) => {
            let view = TwoFactorView {
                setup: Some(setup),
                ..TwoFactorView::default()
            };
            two_factor_page(&page, &signed, StatusCode::OK, view).await
        }
        Err(e) => page.redirect(
            &page.ui.url("/account/two-factor"),
            Some(Flash::alert(crate::message(&e))),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CodeForm {
    code: String,
}

pub(super) async fn totp_confirm(
    Member { page, signed }: Member,
    UiForm(f): UiForm<CodeForm>,
) -> Response {
    let code: String = f.code.chars().filter(|c| !c.is_whitespace()).collect();
    let auth = page.auth();
    match auth
        .mfa()
        .totp_confirm(signed.account.id, &code, &page.client)
        .await
    {
        Ok(codes) => {
            let view = TwoFactorView {
                recovery_codes: Some(codes),
                ..TwoFactorView::default()
            };
            // Shown once (every page is `Cache-Control: no-store`).
            two_factor_page(&page, &signed, StatusCode::OK, view).await
        }
        Err(e @ Error::InvalidMfaCode) => {
            // The setup stays pending: show the same secret again.
            let setup = match auth.mfa().totp_pending(signed.account.id).await {
                Ok(s) => s,
                Err(e) => return page.error(&e),
            };
            let view = TwoFactorView {
                setup,
                errors: minijinja::context! {
                    code => "That code is not right. Enter the current code from your app."
                },
                ..TwoFactorView::default()
            };
            render(
                &e,
                two_factor_page(&page, &signed, status_of(&e), view).await,
            )
        }
        Err(e) => page.redirect(
            &page.ui.url("/account/two-factor"),
            Some(Flash::alert(crate::message(&e))),
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PasswordOnly {
    password: String,
}

pub(super) async fn totp_disable(
    Member { page, signed }: Member,
    UiForm(f): UiForm<PasswordOnly>,
) -> Response {
    match page
        .auth()
        .mfa()
        .totp_disable(signed.account.id, &f.password, &page.client)
        .await
    {
        Ok(()) => page.redirect(
            &page.ui.url("/account/two-factor"),
            Some(Flash::notice("Two-factor sign-in is turned off.")),
        ),
        Err(e) => {
            let e = match e {
                Error::InvalidCredentials => Error::field("password", "is not right"),
                other => other,
            };
            let (errors, alert) = form_errors(&e);
            let view = TwoFactorView {
                errors,
                alert,
                ..TwoFactorView::default()
            };
            render(
                &e,
                two_factor_page(&page, &signed, status_of(&e), view).await,
            )
        }
    }
}
