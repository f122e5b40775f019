// go-api: a small JSON API built from the standard library only.
//
//	go-api                serve on :8080 (or $PORT)
//	go-api -self-test     start on a free loopback port, call the API once, check and exit
//	go-api -sum 1 2 3     print the sum the API would answer and exit
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type sumResponse struct {
	Numbers []int  `json:"numbers"`
	Sum     int    `json:"sum"`
	Server  string `json:"server"`
}

func parseNumbers(parts []string) ([]int, error) {
	nums := make([]int, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("not a number: %q", p)
		}
		nums = append(nums, n)
	}
	return nums, nil
}

func sum(nums []int) int {
	total := 0
	for _, n := range nums {
		total += n
	}
	return total
}

func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	// GET /sum?n=1,2,3 -> {"numbers":[1,2,3],"sum":6,...}
	mux.HandleFunc("GET /sum", func(w http.ResponseWriter, r *http.Request) {
		nums, err := parseNumbers(strings.Split(r.URL.Query().Get("n"), ","))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(sumResponse{Numbers: nums, Sum: sum(nums), Server: "go-api " + runtime.Version()})
	})
	return mux
}

func selfTest() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newMux(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/sum?n=19,23")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var got sumResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || got.Sum != 42 {
		return fmt.Errorf("GET /sum?n=19,23: status %d, sum %d", resp.StatusCode, got.Sum)
	}
	fmt.Printf("self-test ok: sum(19,23)=%d from %s\n", got.Sum, got.Server)
	return nil
}

func main() {
	doSelfTest := flag.Bool("self-test", false, "start on a loopback port, call the API once and exit")
	doSum := flag.Bool("sum", false, "print the sum of the arguments and exit")
	flag.Parse()

	switch {
	case *doSelfTest:
		if err := selfTest(); err != nil {
			fmt.Println("self-test FAILED:", err)
			os.Exit(1)
		}
		return
	case *doSum:
		nums, err := parseNumbers(flag.Args())
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		fmt.Println(sum(nums))
		return
	}

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Printf("go-api listening on :%s", port)
	srv := &http.Server{Addr: ":" + port, Handler: newMux(), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
