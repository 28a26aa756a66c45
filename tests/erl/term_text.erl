%% Erlang's side of beamlink's text-syntax differential test.
%%
%%   check(TermsPath, BeamlinkPath, ErlangPath)
%%       TermsPath: a term_gen record file (4-byte length + term_to_binary per term).
%%       BeamlinkPath: records of UTF-8 text, beamlink's print of each term, in order.
%%       For each data term T (no pids, ports, references or local funs) and its text S:
%%         * erl_scan + erl_parse:parse_term read S back to a term =:= T;
%%         * io_lib:format("~0tp", [T]) equals S, unless T holds a map of more than
%%           32 keys (Erlang prints those in hash order).
%%       Writes io_lib:format("~0tp", [T]) of every term to ErlangPath as records, so the
%%       Rust side can read Erlang's text back. Prints one line:
%%         "data D compared C failures F" then, when F > 0, the first failures.
-module(term_text).
-export([check/3]).

check(TermsPath, BeamlinkPath, ErlangPath) ->
    Terms = term_gen:read_file(TermsPath),
    {ok, Bin} = file:read_file(BeamlinkPath),
    Texts = records(Bin),
    length(Terms) =:= length(Texts) orelse error({count_differs, length(Terms), length(Texts)}),
    {ErlTexts, Stats} = lists:mapfoldl(fun check_one/2, {0, 0, []}, lists:zip(Terms, Texts)),
    ok = file:write_file(ErlangPath, [[<<(byte_size(E)):32>>, E] || E <- ErlTexts]),
    {Data, Compared, Bad} = Stats,
    io:format("data ~b compared ~b failures ~b~n", [Data, Compared, length(Bad)]),
    [io:format("FAILED ~ts~n", [unicode:characters_to_binary(io_lib:format("~0tp", [B]))])
     || B <- lists:sublist(lists:reverse(Bad), 5)],
    ok.

check_one({T, S}, {Data, Compared, Bad}) ->
    ErlText = unicode:characters_to_binary(io_lib:format("~0tp", [T])),
    case is_data(T) of
        false ->
            {ErlText, {Data, Compared, Bad}};
        true ->
            Bad1 = case parse(S) of
                       {ok, P} when P =:= T -> Bad;
                       Other -> [{does_not_read_back, S, Other} | Bad]
                   end,
            case has_big_map(T) of
                true ->
                    {ErlText, {Data + 1, Compared, Bad1}};
                false when ErlText =:= S ->
                    {ErlText, {Data + 1, Compared + 1, Bad1}};
                false ->
                    {ErlText, {Data + 1, Compared + 1, [{text_differs, erlang, ErlText, beamlink, S} | Bad1]}}
            end
    end.

parse(Bin) ->
    case unicode:characters_to_list(Bin) of
        Chars when is_list(Chars) ->
            case erl_scan:string(Chars ++ ". ") of
                {ok, Toks, _} -> erl_parse:parse_term(Toks);
                Err -> Err
            end;
        Err ->
            {not_utf8, Err}
    end.

is_data(T) when is_pid(T); is_port(T); is_reference(T) -> false;
is_data(T) when is_function(T) -> erlang:fun_info(T, type) =:= {type, external};
is_data(T) when is_tuple(T) -> is_data(tuple_to_list(T));
is_data(T) when is_map(T) -> is_data(maps:to_list(T));
is_data([H | T]) -> is_data(H) andalso is_data(T);
is_data(_) -> true.

has_big_map(T) when is_map(T) -> map_size(T) > 32 orelse has_big_map(maps:to_list(T));
has_big_map(T) when is_tuple(T) -> has_big_map(tuple_to_list(T));
has_big_map([H | T]) -> has_big_map(H) orelse has_big_map(T);
has_big_map(_) -> false.

records(<<>>) -> [];
records(<<N:32, B:N/binary, Rest/binary>>) -> [B | records(Rest)].
