package main

import (
	"net/http"

	"github.com/segd/segd/internal/httpapi"
)

func (v *views) handleSchema(w http.ResponseWriter, r *http.Request, ws uint32) {
	httpapi.WriteJSON(w, 200, v.get(ws).ix.Schema())
}
