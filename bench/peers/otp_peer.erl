%% The OTP peer for peer_bench: N OS processes under one one_for_one supervisor, each owned by
%% a gen_server that stops when its port's process exits, so that the supervisor restarts it.
%%
%%   erl -noshell -pa DIR -run otp_peer main N INTENSITY PERIOD CMD [ARG...]
%%
%% CMD is an absolute path (open_port spawn_executable, no shell). A line "stop" on stdin (or
%% its end) shuts the supervisor down: each worker's terminate/2 kills its process and waits for
%% its exit. Erlang cannot signal an OS process itself, so one long-lived /bin/sh (the "killer")
%% reads "kill PID" lines; kill is a shell builtin, so that costs no fork per child.
%% Prints STARTED when every child is up, then SUPERVISOR_EXIT or STOPPED with the reason.
-module(otp_peer).
-behaviour(supervisor).
-export([main/1, start_worker/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

main([NStr, IntensityStr, PeriodStr, Cmd | Args]) ->
    process_flag(trap_exit, true),
    Killer = open_port({spawn_executable, "/bin/sh"}, [{args, ["-s"]}]),
    persistent_term:put(otp_peer_killer, Killer),
    Flags = #{strategy => one_for_one,
              intensity => list_to_integer(IntensityStr),
              period => list_to_integer(PeriodStr)},
    Children = [#{id => I, start => {?MODULE, start_worker, [Cmd, Args]},
                  restart => permanent, shutdown => 5000, type => worker}
                || I <- lists:seq(1, list_to_integer(NStr))],
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Flags, Children}),
    io:format("STARTED~n"),
    Self = self(),
    spawn_link(fun() -> read_stdin(Self) end),
    wait(Sup).

wait(Sup) ->
    receive
        {stdin, stop} ->
            exit(Sup, shutdown),
            receive {'EXIT', Sup, Reason} -> io:format("STOPPED ~p~n", [Reason]) end,
            halt(0);
        {'EXIT', Sup, Reason} ->
            io:format("SUPERVISOR_EXIT ~p~n", [Reason]),
            halt(0);
        _ ->
            wait(Sup)
    end.

read_stdin(Main) ->
    case io:get_line("") of
        "stop\n" -> Main ! {stdin, stop};
        eof -> Main ! {stdin, stop};
        {error, _} -> Main ! {stdin, stop};
        _ -> read_stdin(Main)
    end.

start_worker(Cmd, Args) ->
    gen_server:start_link(?MODULE, {worker, Cmd, Args}, []).

%% One module holds both callbacks: the supervisor's init/1 gets {sup, ...}, the worker's
%% gets {worker, ...}.
init({sup, Flags, Children}) ->
    {ok, {Flags, Children}};
init({worker, Cmd, Args}) ->
    process_flag(trap_exit, true),
    Port = open_port({spawn_executable, Cmd}, [{args, Args}, exit_status]),
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    {ok, {Port, OsPid}}.

handle_call(_Request, _From, State) -> {reply, ok, State}.
handle_cast(_Msg, State) -> {noreply, State}.

handle_info({Port, {exit_status, Status}}, {Port, _} = State) ->
    {stop, {port_exit, Status}, State};
handle_info(_Msg, State) ->
    {noreply, State}.

%% Shutdown by the supervisor: the process is still running, so kill it and wait for its exit
%% (it is the child that has to be stopped, not only its port).
terminate({port_exit, _}, _State) ->
    ok;
terminate(_Reason, {Port, OsPid}) ->
    port_command(persistent_term:get(otp_peer_killer),
                 ["kill ", integer_to_list(OsPid), "\n"]),
    receive {Port, {exit_status, _}} -> ok after 5000 -> ok end.
