//! Optional bearer API keys for `/v1/*`. Off when no key is configured.
//! Keys are compared in constant time (so response timing does not reveal
//! how much of a guess was right) and never logged.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Middleware: lets the request through when keys are off or one matches.
pub(crate) async fn require_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let keys = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.api_keys.clone())
        .unwrap_or_default();
    if keys.is_empty() {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(key) if key_matches(&keys, key) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        _ => Ok(req
            .into_response(ApiError::unauthorized().error_response())
            .map_into_right_body()),
    }
}

/// Whether `presented` equals one of `keys`. Every key is compared, and each
/// comparison takes the same time for keys of the same length.
fn key_matches(keys: &[String], presented: &str) -> bool {
    keys.iter()
        .fold(subtle::Choice::from(0), |found, key| {
            found | key.as_bytes().ct_eq(presented.as_bytes())
        })
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_any_configured_key_exactly() {
        let keys = vec!["alpha-key".to_owned(), "beta-key".to_owned()];
        assert!(key_matches(&keys, "beta-key"));
        assert!(!key_matches(&keys, "beta-ke"));
        assert!(!key_matches(&keys, "beta-keyy"));
        assert!(!key_matches(&keys, ""));
    }
}
