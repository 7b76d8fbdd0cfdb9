//! The served model, OpenAI style.

use actix_web::{HttpResponse, get, web};

use crate::dto::{ErrorBody, ModelCard, ModelList};
use crate::error::ApiError;
use crate::state::AppState;

/// Lists the served model.
#[utoipa::path(get, path = "/v1/models", tag = "openai", responses(
    (status = 200, body = ModelList),
    (status = 503, description = "The model is still loading", body = ErrorBody),
))]
#[get("/models")]
pub(crate) async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let ready = state.ready()?;
    Ok(HttpResponse::Ok().json(ModelList {
        object: "list".into(),
        data: vec![ModelCard {
            id: ready.model.clone(),
            object: "model".into(),
            created: ready.created,
            owned_by: "strictly".into(),
        }],
    }))
}
