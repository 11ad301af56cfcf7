package main

import "github.com/segd/segd/internal/store"

func storeKeys(write, admin string) store.Keys { return store.Keys{WriteKey: write, AdminToken: admin} }
