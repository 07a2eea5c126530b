" Syntax for azure-sessions transcripts (azure-sessions://output/...)
if exists('b:current_syntax')
  finish
endif
syntax case match
syntax match azureSessionsOk /\<Succeeded\>/ contained
syntax match azureSessionsFailed /\<Failed\>/ contained
syntax match azureSessionsHeader /^\%(──\|--\|==\) .*$/ contains=azureSessionsOk,azureSessionsFailed
syntax match azureSessionsLabel /^\[\%(stdout\|stderr\|result\|error\)\]$/
syntax match azureSessionsTraceback /^\s*Traceback (most recent call last):.*$/
syntax match azureSessionsException /^\s*\u\w*\%(Error\|Exception\|Interrupt\|Exit\):.*$/
highlight default link azureSessionsHeader Title
highlight default link azureSessionsOk DiagnosticOk
highlight default link azureSessionsFailed DiagnosticError
highlight default link azureSessionsLabel Label
highlight default link azureSessionsTraceback DiagnosticError
highlight default link azureSessionsException DiagnosticError
let b:current_syntax = 'azuresessionsoutput'
